// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ISeriesRegistry} from "./interfaces/ISeriesRegistry.sol";
import {OrderLib} from "./libraries/OrderLib.sol";

/// @title SeriesRegistry
/// @notice Assets and option series. Listing stops while paused; reads never do.
contract SeriesRegistry is ISeriesRegistry, AccessControlDefaultAdminRules, Pausable {
    /// @notice Adds assets and lists series.
    bytes32 public constant LISTER_ROLE = keccak256("LISTER_ROLE");
    /// @notice Pauses and unpauses listing.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev Largest supported token decimals (10**36 keeps every product below 2**256).
    uint8 internal constant MAX_DECIMALS = 36;

    /// @dev Packed series: one slot for underlying/expiry/isCall/decimals, one for quote, one for strike.
    struct StoredSeries {
        address underlying;
        uint64 expiry;
        bool isCall;
        uint8 underlyingDecimals;
        address quote;
        uint128 strike;
    }

    /// @dev Asset decimals plus one (0 = unknown asset).
    mapping(address asset => uint8) internal _decimalsPlusOne;
    mapping(bytes32 id => StoredSeries) internal _series;
    /// @inheritdoc ISeriesRegistry
    mapping(address underlying => address) public quoteOf;

    /// @param initialAdminDelay Seconds the two-step admin transfer waits (AccessControlDefaultAdminRules).
    /// @param admin Initial DEFAULT_ADMIN_ROLE holder; grants LISTER_ROLE and PAUSER_ROLE.
    constructor(uint48 initialAdminDelay, address admin) AccessControlDefaultAdminRules(initialAdminDelay, admin) {}

    /// @inheritdoc ISeriesRegistry
    function addAsset(address asset) external onlyRole(LISTER_ROLE) {
        if (_decimalsPlusOne[asset] != 0) revert AssetAlreadyAdded(asset);
        if (asset == address(0) || asset.code.length == 0) revert InvalidAsset(asset);
        try IERC20Metadata(asset).decimals() returns (uint8 decimals) {
            if (decimals > MAX_DECIMALS) revert InvalidAsset(asset);
            _decimalsPlusOne[asset] = decimals + 1;
            emit AssetAdded(asset, decimals);
        } catch {
            revert InvalidAsset(asset);
        }
    }

    /// @inheritdoc ISeriesRegistry
    function listSeries(address underlying, address quote, uint256 strike, uint256 expiry, bool isCall)
        external
        onlyRole(LISTER_ROLE)
        whenNotPaused
        returns (bytes32 id)
    {
        uint8 uPlusOne = _decimalsPlusOne[underlying];
        if (uPlusOne == 0) revert UnknownAsset(underlying);
        if (_decimalsPlusOne[quote] == 0) revert UnknownAsset(quote);
        if (underlying == quote) revert SameAsset(quote);
        if (strike == 0 || strike > type(uint128).max) revert InvalidStrike(strike);
        if (expiry <= block.timestamp || expiry > type(uint64).max) revert InvalidExpiry(expiry, block.timestamp);
        address pinned = quoteOf[underlying];
        if (pinned == address(0)) quoteOf[underlying] = quote;
        else if (pinned != quote) revert QuoteMismatch(underlying, pinned, quote);
        id = OrderLib.seriesId(underlying, quote, strike, expiry, isCall);
        if (_series[id].underlying != address(0)) revert SeriesExists(id);
        _series[id] = StoredSeries({
            underlying: underlying,
            expiry: uint64(expiry),
            isCall: isCall,
            underlyingDecimals: uPlusOne - 1,
            quote: quote,
            strike: uint128(strike)
        });
        emit SeriesListed(id, underlying, quote, strike, expiry, isCall);
    }

    /// @inheritdoc ISeriesRegistry
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ISeriesRegistry
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc ISeriesRegistry
    function seriesId(address underlying, address quote, uint256 strike, uint256 expiry, bool isCall)
        external
        pure
        returns (bytes32)
    {
        return OrderLib.seriesId(underlying, quote, strike, expiry, isCall);
    }

    /// @inheritdoc ISeriesRegistry
    function getSeries(bytes32 id) external view returns (Series memory s) {
        s = seriesOf(id);
        if (s.underlying == address(0)) revert UnknownSeries(id);
    }

    /// @inheritdoc ISeriesRegistry
    function seriesOf(bytes32 id) public view returns (Series memory s) {
        StoredSeries memory st = _series[id];
        if (st.underlying == address(0)) return s;
        s = Series({
            underlying: st.underlying,
            quote: st.quote,
            strike: st.strike,
            expiry: st.expiry,
            isCall: st.isCall,
            underlyingUnit: 10 ** uint256(st.underlyingDecimals)
        });
    }

    /// @inheritdoc ISeriesRegistry
    function isListed(bytes32 id) external view returns (bool) {
        return _series[id].underlying != address(0);
    }

    /// @inheritdoc ISeriesRegistry
    function isAsset(address asset) external view returns (bool) {
        return _decimalsPlusOne[asset] != 0;
    }

    /// @inheritdoc ISeriesRegistry
    function assetDecimals(address asset) external view returns (uint8) {
        uint8 d = _decimalsPlusOne[asset];
        return d == 0 ? 0 : d - 1;
    }
}
